"""Cold-start guard: the top-level packages each function's handler module imports when Lambda loads it.

A function's cold start is dominated by what its module imports (docs/performance.md; `bench/cold_start.py`
measures it). For every `AWS::Serverless::Function` of template.yaml, this test imports the handler module
(`Handler`, from `CodeUri`) in a fresh interpreter with the function's template environment, diffs the
top-level names in `sys.modules` before and after, and holds the third-party ones to ALLOWED below: a new heavy
import in a hot function fails CI with its name, without timing anything. A package a function needs only on
some requests belongs behind a function-level import (imported on first use).

Adding a function to template.yaml means adding one line to ALLOWED (the test says which). Importing a handler
must not connect anywhere: the probe runs without credentials or endpoints.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cmp_dev.local.template import FunctionDef, read_template

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
THIS_FILE = "tests/unit/test_cold_imports.py"

# What every function may load: Powertools' logger and metrics (jmespath and typing_extensions come with
# them), the cmp package, and botocore's exception classes that the AWS adapters catch (~6 ms; the clients,
# boto3 and the X-Ray SDK load on first use).
COMMON = frozenset({"aws_lambda_powertools", "cmp", "typing_extensions", "jmespath", "botocore"})
JOB = COMMON
"""A scheduled job or the authorizer: no pydantic at load time."""
API = COMMON | {"pydantic", "pydantic_core", "annotated_types", "typing_inspection"}
"""An API function: Powertools' validating resolver needs pydantic (~100 ms of every API cold start)."""

# One line per function of template.yaml (its logical id). Keep these minimal: each package is paid on every
# cold start. Never at load time in any function: boto3, psycopg, aws_xray_sdk, jwt/cryptography, argon2,
# yaml, stripe.
ALLOWED: dict[str, frozenset[str]] = {
    "AuthorizerFunction": JOB,
    "HousekeepingFunction": JOB,
    "BillingFunction": JOB,
    "AdminApiFunction": API,
    "AuthApiFunction": API,
    "CapabilitiesApiFunction": API,
    "CommerceApiFunction": API,
    "PaymentsWebhookFunction": API,
    "MarketplaceApiFunction": API,
    "IntegrationApiFunction": API,
    "ProviderApiFunction": API,
    "RatingsApiFunction": API,
    "OnboardingWorkerFunction": API,
    "ReviewWorkerFunction": API,
    "RuntimeProvisioningWorkerFunction": API,
    "RuntimeAuthorizerFunction": JOB,
    "UsageRollupFunction": JOB,
    "RuntimeHealthFunction": JOB,
    "SlaEvaluatorFunction": JOB,
    "KnowledgeRefreshFunction": JOB,
    "RuntimeApiFunction": API,
    "AgentApiFunction": API,
    "McpApiFunction": API,
    "ChatWsFunction": API
    | {
        "chalice"
    },  # chalice.app alone (~30 ms): the Chalice CLI's packages never load  # the mcp package (Starlette, httpx, jsonschema) is imported on the first MCP call
    "WidgetScriptFunction": JOB,  # static script: a resolver without validation, so no pydantic
    "KnowledgeApiFunction": API,
    "IngestionWorkerFunction": API,
    "WorkflowsApiFunction": API,
    "WorkflowHooksFunction": API,
    "WorkflowStepWorkerFunction": API,
    "WorkflowTriggerWorkerFunction": API,
}

PROBE = """
import importlib, json, sys
sys.path.insert(0, {shared!r}); sys.path.insert(0, {folder!r})
before = set(sys.modules)
importlib.import_module({module!r})
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def probe_environment(function: FunctionDef) -> dict[str, str]:
    """The function's template environment (literal values; intrinsics left out), without AWS credentials."""
    literal = {k: v for k, v in function.environment.items() if isinstance(v, str)}
    return {**literal, "AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}


def loaded_modules(folder: Path, module: str = "app", environment: dict[str, str] | None = None) -> set[str]:
    """Every module (dotted name) importing `module` from `folder` adds to a fresh interpreter."""
    code = PROBE.format(shared=str(REPO / "shared"), folder=str(folder), module=module)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=folder,
        env=environment or {"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def third_party(modules: set[str], module: str = "app") -> set[str]:
    """The third-party top-level packages among `modules` (the handler module `module` left out)."""
    names = {m.split(".")[0] for m in modules}
    return {n for n in names if not n.startswith("_") and n not in sys.stdlib_module_names and n != module}


def loaded_packages(folder: Path, module: str = "app", environment: dict[str, str] | None = None) -> set[str]:
    """The third-party top-level packages importing `module` from `folder` adds to a fresh interpreter."""
    return third_party(loaded_modules(folder, module, environment), module)


def budget_problem(function: str, loaded: set[str]) -> str | None:
    """Why `function`'s load-time packages break the allow-list, or None when they don't."""
    if function not in ALLOWED:
        return (
            f"{function} (template.yaml) has no allow-list: add the line `{function!r}: API,` (or JOB, for a "
            f"function without pydantic) to ALLOWED in {THIS_FILE}"
        )
    extra = loaded - ALLOWED[function]
    if extra:
        return (
            f"{function} now imports {sorted(extra)} when Lambda loads it; import them where they are used "
            f"(first use), or add them to its ALLOWED line in {THIS_FILE} with the measured cost in "
            "docs/performance.md"
        )
    return None


FUNCTIONS = read_template(TEMPLATE).functions

NEVER_AT_LOAD = ("cmp.capabilities.models", "aws_lambda_powertools.utilities.parser.models")
"""Modules no handler loads with its module: the ~120 capability models (~40 ms of class building) load where a
route, a key's issue or a chat reads a capability document; Powertools' parser models (~40 ms) load when a worker
imports a pydantic model before `cmp.jobs` (docs/performance.md, fourth pass)."""


FIRST_CALL: dict[str, tuple[str, ...]] = {
    "ProviderApiFunction": (
        "cmp.web.agent_schemas",
        "cmp.web.knowledge_schemas",
        "cmp.web.sales_schemas",
        "cmp.web.usage_schemas",
        "cmp.web.commerce_schemas",
        "cmp.commerce.sales_views",
    ),
    "CommerceApiFunction": ("cmp.web.usage_schemas", "cmp.web.sla_schemas", "cmp.web.configuration_schemas"),
}
"""Modules of a function's secondary routes (product knowledge, sales, usage, SLA, configuration) that load when
one of those routes is first called: their route modules name the models through `cmp.web.schemas.LazySchemas`
(docs/performance.md, sixth pass)."""


UNVALIDATED = ("WidgetScriptFunction", "PaymentsWebhookFunction")
"""Functions whose routes read their input by hand, on `make_resolver(..., validated=False)`: Powertools'
validation middleware (and its OpenAPI models) never loads in them (docs/performance.md, fifth pass)."""
VALIDATION_MIDDLEWARE = "aws_lambda_powertools.event_handler.middlewares.openapi_validation"


@functools.cache
def function_modules(name: str) -> frozenset[str]:
    """The modules the handler of template.yaml's function `name` loads, probed once per test session."""
    function = FUNCTIONS[name]
    return frozenset(loaded_modules(function.code_dir, function.module, probe_environment(function)))


def test_every_allow_list_entry_is_a_function_of_the_template() -> None:
    assert not set(ALLOWED) - set(FUNCTIONS), (
        f"ALLOWED names functions template.yaml no longer has: {THIS_FILE}"
    )


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_handler_loads_only_allowed_packages(name: str) -> None:
    problem = budget_problem(name, third_party(set(function_modules(name)), FUNCTIONS[name].module))
    assert problem is None, problem


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_handler_loads_no_module_kept_for_first_use(name: str) -> None:
    loaded = sorted(set(NEVER_AT_LOAD) & function_modules(name))
    assert not loaded, f"{name} loads {loaded} at import; see NEVER_AT_LOAD in {THIS_FILE}"


@pytest.mark.parametrize("name", sorted(FIRST_CALL))
def test_secondary_route_models_load_on_their_first_call(name: str) -> None:
    loaded = sorted(set(FIRST_CALL[name]) & function_modules(name))
    assert not loaded, f"{name} loads {loaded} at import; see FIRST_CALL in {THIS_FILE}"


@pytest.mark.parametrize("name", UNVALIDATED)
def test_a_function_reading_its_input_by_hand_loads_no_validation_middleware(name: str) -> None:
    assert VALIDATION_MIDDLEWARE not in function_modules(name), (
        f"{name} loads Powertools' validation middleware at import; it is built with validated=False"
    )


def test_the_probe_sees_the_validation_middleware_of_a_validating_function() -> None:
    assert VALIDATION_MIDDLEWARE in function_modules("AdminApiFunction")


def test_the_probe_sees_a_heavy_import(tmp_path: Path) -> None:
    """The guard itself: a handler that imports boto3 at load time is caught, by name."""
    (tmp_path / "app.py").write_text("import boto3\n")
    problem = budget_problem("AdminApiFunction", loaded_packages(tmp_path))
    assert problem is not None and "'boto3'" in problem


def test_a_function_without_an_allow_list_says_how_to_add_it() -> None:
    problem = budget_problem("BrandNewFunction", {"cmp"})
    assert problem is not None and "add the line `'BrandNewFunction': API,`" in problem


def test_the_probe_sees_a_schema_module_imported_by_name(tmp_path: Path) -> None:
    """The guard itself: a route module importing its models by name (not through LazySchemas) is caught."""
    (tmp_path / "app.py").write_text("from cmp.web.sla_schemas import SubscriptionSla\n")
    assert "cmp.web.sla_schemas" in loaded_modules(tmp_path)


def test_the_probe_sees_the_capability_models(tmp_path: Path) -> None:
    """The guard itself: a handler that imports the capability models at load time is caught."""
    (tmp_path / "app.py").write_text("import cmp.capabilities.models\n")
    assert "cmp.capabilities.models" in loaded_modules(tmp_path)


def test_the_probe_sees_the_parser_models_of_a_worker_importing_pydantic_first(tmp_path: Path) -> None:
    """The guard itself: a worker that loads a pydantic model before `cmp.jobs` is caught."""
    (tmp_path / "app.py").write_text("import cmp.catalog.messages\nimport cmp.jobs\n")
    assert "aws_lambda_powertools.utilities.parser.models" in loaded_modules(tmp_path)
