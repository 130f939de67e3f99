"""CI gate "the template is the truth": transform the SAM template offline, lint the result, check its files.

cfn-lint alone does not expand `AWS::Serverless::*`, and neither tool looks at the code and state machine
files the template points to. This runs, without AWS credentials or network:
- the SAM translator (local artifact paths swapped for placeholder S3 URIs, as `sam package` would);
- cfn-lint over the transformed CloudFormation (errors fail, warnings are reported);
- every state machine definition through `asl_check`, plus its `${...}` placeholders against
  `DefinitionSubstitutions` in both directions;
- every WebSocket API whole (`websocket_check`: its routes, integrations, permissions, stage, handlers);
- every function's CodeUri folder and Python handler, every local artifact path, and that each
  `statemachines/*.asl.json` file is used by some state machine;
- every secret, queue, bucket, state machine and event bus a function's environment names against the
  statements of its role (`grants`), so a missing grant fails here instead of in AWS.

Run it as `python -m cmp_dev.devtools.template_check template.yaml [--ignore RULE ...]`.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from cfnlint.api import lint
from cfnlint.config import ManualArgs
from samtranslator.metrics.metrics import DummyMetricsPublisher, Metrics
from samtranslator.model.exceptions import ExceptionWithMessage, InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from cmp_dev.devtools.asl_check import check_asl
from cmp_dev.devtools.cfn_yaml import TemplateLoadError, load_template
from cmp_dev.devtools.grants import check_grants
from cmp_dev.devtools.websocket_check import check_websocket_apis

if TYPE_CHECKING:
    from boto3.session import Session

REGION = "us-east-1"
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
STATE_MACHINE_FILES = "statemachines/*.asl.json"
PLACEHOLDER_BUCKET = "cmp-template-check"

_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
# Properties that hold a local path until `sam package` uploads it; the translator accepts only S3 URIs.
_ARTIFACT_PROPERTY = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::Api": "DefinitionUri",
    "AWS::Serverless::HttpApi": "DefinitionUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
}


@dataclass
class TemplateReport:
    """Outcome of one check: `problems` fail CI, `warnings` are shown but do not."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    resource_count: int = 0
    state_machine_count: int = 0


class _OfflineRegion:
    """The only part of a boto3 Session the translator reads (`region_name`).

    A real Session reads ~/.aws config and fails on a missing AWS_PROFILE; this keeps the check
    independent of the developer's AWS setup. The translator's `transform()` helper is not used for the
    same reason: it builds a default Session and raises NoRegionFound where no region is configured (CI).
    """

    region_name = REGION


def _no_iam_lookup() -> dict[str, str]:
    """Managed-policy fallback for names missing from the translator's bundled map: never call IAM.

    Unknown names then stay as-is and cfn-lint reports them (E3031), so a typo fails CI instead of deploy.
    """
    return {}


def check_template(path: Path | str, ignore_rules: Iterable[str] = ()) -> list[str]:
    """Problems that must fail CI for the template at `path`; empty means it is good to deploy."""
    return analyze_template(path, ignore_rules).problems


def analyze_template(path: Path | str, ignore_rules: Iterable[str] = ()) -> TemplateReport:
    """Run every check and keep going after a failure, so one CI run lists all problems at once."""
    path = Path(path)
    report = TemplateReport()
    try:
        template = load_template(path)
    except TemplateLoadError as error:
        report.problems.append(f"load: {error}")
        return report
    if not isinstance(template.get("Resources"), dict) or not template["Resources"]:
        report.problems.append("Resources: must be a non-empty mapping")
        return report

    base_dir = path.parent
    _check_artifact_paths(template, base_dir, report)
    _check_functions(template, base_dir, report)
    _check_state_machines(template, base_dir, report)
    report.problems.extend(check_websocket_apis(template, base_dir))
    transformed = transform(template, report)
    if transformed is not None:
        report.resource_count = len(transformed.get("Resources", {}))
        report.problems.extend(check_grants(transformed))
        _lint(transformed, ignore_rules, report)
    return report


def _resources_of_type(template: dict[str, Any], resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in template["Resources"].items():
        if isinstance(resource, dict) and resource.get("Type") == resource_type:
            properties = resource.get("Properties")
            yield logical_id, properties if isinstance(properties, dict) else {}


def _globals_for(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    """The `Globals` defaults SAM merges into every resource of `resource_type` (may be empty)."""
    globals_section = template.get("Globals")
    section = resource_type.removeprefix("AWS::Serverless::")
    values = globals_section.get(section) if isinstance(globals_section, dict) else None
    return values if isinstance(values, dict) else {}


def _local_path(value: Any) -> str | None:
    """The relative path in an artifact property, or None when it is already S3 or an intrinsic."""
    if isinstance(value, str) and not value.startswith("s3://"):
        return value
    return None


def _check_artifact_paths(template: dict[str, Any], base_dir: Path, report: TemplateReport) -> None:
    for resource_type, property_name in _ARTIFACT_PROPERTY.items():
        default = _globals_for(template, resource_type).get(property_name)
        for logical_id, properties in _resources_of_type(template, resource_type):
            local_path = _local_path(properties.get(property_name, default))
            if local_path is not None and not (base_dir / local_path).exists():
                report.problems.append(f"{logical_id}.{property_name}: '{local_path}' does not exist")


def _check_functions(template: dict[str, Any], base_dir: Path, report: TemplateReport) -> None:
    defaults = _globals_for(template, "AWS::Serverless::Function")
    for logical_id, properties in _resources_of_type(template, "AWS::Serverless::Function"):
        settings = {**defaults, **properties}
        code_uri = _local_path(settings.get("CodeUri"))
        if settings.get("PackageType") == "Image" or "InlineCode" in settings or code_uri is None:
            continue
        code_dir = base_dir / code_uri
        runtime, handler = settings.get("Runtime"), settings.get("Handler")
        if code_dir.is_dir() and isinstance(runtime, str) and runtime.startswith("python"):
            problem = _python_handler_problem(code_dir, code_uri, handler)
            if problem:
                report.problems.append(f"{logical_id}.Handler: {problem}")


def _python_handler_problem(code_dir: Path, code_uri: str, handler: Any) -> str | None:
    """Why Lambda could not import `module.function` from `code_dir`, or None when it can."""
    if not isinstance(handler, str) or "." not in handler:
        return f"must be 'module.function', got {handler!r}"
    module, _, function = handler.rpartition(".")
    module_path = Path(*module.split("."))
    candidates = [code_dir / module_path.with_suffix(".py"), code_dir / module_path / "__init__.py"]
    source = next((candidate for candidate in candidates if candidate.is_file()), None)
    shown = f"{code_uri.rstrip('/')}/{module_path.as_posix()}.py"
    if source is None:
        return f"{shown} does not exist"
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    except SyntaxError as error:
        return f"{shown} does not compile: {error.msg} (line {error.lineno})"
    if function not in _top_level_names(tree):
        return f"{shown} does not define '{function}'"
    return None


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _check_state_machines(template: dict[str, Any], base_dir: Path, report: TemplateReport) -> None:
    used_files: set[Path] = set()
    for logical_id, properties in _resources_of_type(template, "AWS::Serverless::StateMachine"):
        definition_uri = _local_path(properties.get("DefinitionUri"))
        if definition_uri is not None:
            asl_path = base_dir / definition_uri
            used_files.add(asl_path.resolve())
            source = f"{logical_id} ({definition_uri})"
            definition = _load_asl(asl_path, source, report) if asl_path.is_file() else None
        elif isinstance(properties.get("Definition"), dict):
            source, definition = f"{logical_id}.Definition", properties["Definition"]
        else:
            continue
        if definition is None:
            continue
        report.state_machine_count += 1
        report.problems.extend(f"{source} {problem}" for problem in check_asl(definition))
        _check_substitutions(
            logical_id, source, definition, properties.get("DefinitionSubstitutions"), report
        )

    for asl_file in sorted(base_dir.glob(STATE_MACHINE_FILES)):
        if asl_file.resolve() not in used_files:
            relative = asl_file.relative_to(base_dir).as_posix()
            report.problems.append(
                f"{relative}: not used as DefinitionUri by any AWS::Serverless::StateMachine"
            )


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json object hook: Step Functions rejects duplicate keys that json.load would silently collapse."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _load_asl(asl_path: Path, source: str, report: TemplateReport) -> dict[str, Any] | None:
    try:
        definition = json.loads(
            asl_path.read_text(encoding="utf-8"), object_pairs_hook=_reject_duplicate_keys
        )
    except ValueError as error:  # json.JSONDecodeError is a ValueError too
        report.problems.append(f"{source}: not valid JSON: {error}")
        return None
    if not isinstance(definition, dict):
        report.problems.append(f"{source}: a state machine definition must be a JSON object")
        return None
    return definition


def _strings_and_keys(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings_and_keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings_and_keys(item)


def _check_substitutions(
    logical_id: str, source: str, definition: dict[str, Any], substitutions: Any, report: TemplateReport
) -> None:
    """Each `${Name}` needs a substitution (else it reaches AWS verbatim); each substitution needs a use."""
    if substitutions is None:
        substitutions = {}
    if not isinstance(substitutions, dict):
        report.problems.append(f"{logical_id}.DefinitionSubstitutions: must be a mapping")
        return
    used = {name for text in _strings_and_keys(definition) for name in _PLACEHOLDER.findall(text)}
    for name in sorted(used - substitutions.keys()):
        report.problems.append(
            f"{logical_id}.DefinitionSubstitutions: ${{{name}}} is used in {source} but not provided"
        )
    for name in sorted(substitutions.keys() - used):
        report.problems.append(
            f"{logical_id}.DefinitionSubstitutions.{name}: provided but never used in {source}"
        )


def _declared_transforms(template: dict[str, Any]) -> list[Any]:
    declared = template.get("Transform")
    if declared is None:
        return []
    return declared if isinstance(declared, list) else [declared]


def _with_placeholder_artifacts(template: dict[str, Any]) -> dict[str, Any]:
    """A copy whose local artifact paths are S3 URIs, which is all the translator needs to see."""
    sam_input = copy.deepcopy(template)
    for resource_type, property_name in _ARTIFACT_PROPERTY.items():
        for logical_id, properties in _resources_of_type(sam_input, resource_type):
            if _local_path(properties.get(property_name)) is not None:
                properties[property_name] = f"s3://{PLACEHOLDER_BUCKET}/{logical_id}"
        defaults = _globals_for(sam_input, resource_type)
        if _local_path(defaults.get(property_name)) is not None:
            defaults[property_name] = f"s3://{PLACEHOLDER_BUCKET}/Globals/{property_name}"
    return sam_input


def transform(template: dict[str, Any], report: TemplateReport) -> dict[str, Any] | None:
    """The CloudFormation the SAM transform would produce, or None after recording why it cannot."""
    if SAM_TRANSFORM not in _declared_transforms(template):
        if any(
            isinstance(resource, dict) and str(resource.get("Type", "")).startswith("AWS::Serverless::")
            for resource in template["Resources"].values()
        ):
            report.problems.append(f"Transform: AWS::Serverless resources need 'Transform: {SAM_TRANSFORM}'")
            return None
        return template
    # Feature-toggle warnings concern AWS's hosted transform service, not the template being checked.
    logging.getLogger("samtranslator.feature_toggle").setLevel(logging.ERROR)
    # Metrics go nowhere, but must be flushed or the translator logs an "unpublished metrics" warning.
    metrics = Metrics(metrics_publisher=DummyMetricsPublisher())
    translator = Translator(None, Parser(), boto_session=cast("Session", _OfflineRegion()), metrics=metrics)
    try:
        return translator.translate(
            _with_placeholder_artifacts(template), parameter_values={}, get_managed_policy_map=_no_iam_lookup
        )
    except InvalidDocumentException as error:
        report.problems.extend(f"transform: {cause.message}" for cause in error.causes)
    except ExceptionWithMessage as error:
        report.problems.append(f"transform: {error.message}")
    except Exception as error:  # the translator raises raw TypeError/KeyError on some malformed input
        report.problems.append(f"transform: translator failed: {type(error).__name__}: {error}")
    finally:
        metrics.publish()
    return None


def _lint(transformed: dict[str, Any], ignore_rules: Iterable[str], report: TemplateReport) -> None:
    config = ManualArgs(regions=[REGION], ignore_checks=list(ignore_rules))
    for match in lint(json.dumps(transformed), config=config):
        rule_id = str(match.rule.id)
        location = getattr(match, "path_string", "") or f"line {match.linenumber}"
        message = f"lint {rule_id} {location}: {match.message}"
        (report.problems if rule_id.startswith("E") else report.warnings).append(message)


def main(argv: Sequence[str] | None = None) -> int:
    """Print problems and warnings; exit 1 on any problem, else 0 with a one-line summary."""
    parser = argparse.ArgumentParser(
        prog="python -m cmp_dev.devtools.template_check",
        description="Transform the SAM template offline, lint it, validate its functions and state machines.",
    )
    parser.add_argument("template", nargs="?", type=Path, default=Path("template.yaml"))
    parser.add_argument(
        "--ignore", action="append", default=[], metavar="RULE", help="cfn-lint rule id to skip (repeatable)"
    )
    args = parser.parse_args(argv)
    report = analyze_template(args.template, args.ignore)
    for warning in report.warnings:
        print(f"warning: {warning}")
    for problem in report.problems:
        print(problem)
    if report.problems:
        print(f"template check failed: {len(report.problems)} problem(s)")
        return 1
    print(
        f"template ok: {report.resource_count} resources after transform, "
        f"{report.state_machine_count} state machines validated"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
