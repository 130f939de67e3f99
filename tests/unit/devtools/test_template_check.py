"""The template gate end to end on small projects written to tmp_path (transform, lint, files, ASL, grants),
and on the repo's own template broken on purpose."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cmp_dev.devtools.cfn_yaml import load_template
from cmp_dev.devtools.grants import Grants, check_grants
from cmp_dev.devtools.template_check import TemplateReport, analyze_template, check_template, main, transform

pytestmark = pytest.mark.unit

VALID_TEMPLATE = """\
AWSTemplateFormatVersion: 2010-09-09
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.11
    Timeout: 10
Resources:
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 60
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/worker
      Handler: app.handler
      Policies:
        - AWSXrayWriteOnlyAccess
        - SQSSendMessagePolicy:
            QueueName: !GetAtt Jobs.QueueName
      Events:
        FromJobs:
          Type: SQS
          Properties:
            Queue: !GetAtt Jobs.Arn
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: statemachines/flow.asl.json
      DefinitionSubstitutions:
        WorkerArn: !GetAtt Worker.Arn
      Policies:
        - LambdaInvokePolicy:
            FunctionName: !Ref Worker
"""

VALID_DEFINITION: dict[str, Any] = {
    "StartAt": "Work",
    "States": {
        "Work": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${WorkerArn}", "Payload.$": "$"},
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}],
            "End": True,
        }
    },
}


def write_project(
    root: Path,
    template: str = VALID_TEMPLATE,
    definition: dict[str, Any] | None = None,
    handler_source: str = "def handler(event, context):\n    return event\n",
) -> Path:
    """A project laid out like the repo: template.yaml, src/worker/app.py, statemachines/flow.asl.json."""
    (root / "src" / "worker").mkdir(parents=True)
    (root / "src" / "worker" / "app.py").write_text(handler_source, encoding="utf-8")
    (root / "statemachines").mkdir()
    asl = VALID_DEFINITION if definition is None else definition
    (root / "statemachines" / "flow.asl.json").write_text(json.dumps(asl, indent=2), encoding="utf-8")
    template_path = root / "template.yaml"
    template_path.write_text(template, encoding="utf-8")
    return template_path


def assert_reports(problems: list[str], expected: str) -> None:
    assert any(expected in problem for problem in problems), "\n".join(problems)


def test_valid_project_passes(tmp_path: Path) -> None:
    report = analyze_template(write_project(tmp_path))
    assert report.problems == []
    assert report.state_machine_count == 1
    # Queue, function + role + SQS mapping, state machine + role.
    assert report.resource_count == 6


def test_check_needs_no_aws_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "profile-that-does-not-exist")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    assert check_template(write_project(tmp_path)) == []


def test_cli_prints_summary_and_exits_zero_when_ok(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(write_project(tmp_path))]) == 0
    assert (
        capsys.readouterr().out.strip()
        == "template ok: 6 resources after transform, 1 state machines validated"
    )


def test_cli_prints_problems_and_exits_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = write_project(
        tmp_path, template=VALID_TEMPLATE.replace("Handler: app.handler", "Handler: app.main")
    )
    assert main([str(template)]) == 1
    output = capsys.readouterr().out
    assert "Worker.Handler: src/worker/app.py does not define 'main'" in output
    assert "template check failed: 1 problem(s)" in output


def test_module_entry_point_exits_one_on_problems_without_log_noise(tmp_path: Path) -> None:
    template = write_project(
        tmp_path, template=VALID_TEMPLATE.replace("CodeUri: src/worker", "CodeUri: src/gone")
    )
    result = subprocess.run(
        [sys.executable, "-m", "cmp_dev.devtools.template_check", str(template)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "Worker.CodeUri: 'src/gone' does not exist",
        "template check failed: 1 problem(s)",
    ]
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("replacement", "expected"),
    [
        ("!GetAtt Jobs", "load: {root}/template.yaml:20:24: !GetAtt needs 'Resource.Attribute', got 'Jobs'"),
        ("!GetAttr Jobs.QueueName", "load: {root}/template.yaml:20:24: could not determine a constructor"),
    ],
)
def test_malformed_intrinsic_is_a_load_problem(tmp_path: Path, replacement: str, expected: str) -> None:
    template = write_project(tmp_path, template=VALID_TEMPLATE.replace("!GetAtt Jobs.QueueName", replacement))
    assert_reports(check_template(template), expected.format(root=tmp_path))


def test_reference_to_missing_resource_is_a_lint_error(tmp_path: Path) -> None:
    template = write_project(
        tmp_path, template=VALID_TEMPLATE.replace("!GetAtt Jobs.Arn", "!GetAtt Missing.Arn")
    )
    assert_reports(check_template(template), "lint E1010 Resources/WorkerFromJobs/Properties/EventSourceArn")


def test_bad_resource_property_is_a_lint_error(tmp_path: Path) -> None:
    template = write_project(
        tmp_path, template=VALID_TEMPLATE.replace("VisibilityTimeout: 60", "VisibilityTimout: 60")
    )
    assert_reports(
        check_template(template),
        "lint E3002 Resources/Jobs/Properties/VisibilityTimout: "
        "Additional properties are not allowed ('VisibilityTimout' was unexpected. "
        "Did you mean 'VisibilityTimeout'?)",
    )


def test_ignored_rule_does_not_fail(tmp_path: Path) -> None:
    template = write_project(
        tmp_path, template=VALID_TEMPLATE.replace("VisibilityTimeout: 60", "VisibilityTimout: 60")
    )
    assert check_template(template, ignore_rules=["E3002"]) == []


def test_unknown_managed_policy_name_is_a_lint_error(tmp_path: Path) -> None:
    template = write_project(
        tmp_path, template=VALID_TEMPLATE.replace("AWSXrayWriteOnlyAccess", "AWSXrayWriteOnly")
    )
    assert_reports(
        check_template(template),
        "lint E3031 Resources/WorkerRole/Properties/ManagedPolicyArns/1: 'AWSXrayWriteOnly' does not match",
    )


def test_lint_warnings_are_reported_but_do_not_fail(tmp_path: Path) -> None:
    unused_parameter = "Parameters:\n  Unused:\n    Type: String\n    Default: x\nResources:\n"
    template = write_project(tmp_path, template=VALID_TEMPLATE.replace("Resources:\n", unused_parameter))
    report = analyze_template(template)
    assert report.problems == []
    assert report.warnings == ["lint W2001 Parameters/Unused: Parameter Unused not used."]


def test_invalid_event_type_is_a_translator_error(tmp_path: Path) -> None:
    template = write_project(tmp_path, template=VALID_TEMPLATE.replace("Type: SQS", "Type: Queue"))
    assert check_template(template) == [
        "transform: Resource with id [Worker] is invalid. Event with id [FromJobs] is invalid. "
        "Resource dict has missing or invalid value for key Type. Event Type is: Queue."
    ]


def test_serverless_resources_without_the_transform_are_reported(tmp_path: Path) -> None:
    template = write_project(
        tmp_path, template=VALID_TEMPLATE.replace("Transform: AWS::Serverless-2016-10-31\n", "")
    )
    assert check_template(template) == [
        "Transform: AWS::Serverless resources need 'Transform: AWS::Serverless-2016-10-31'"
    ]


def test_missing_code_folder(tmp_path: Path) -> None:
    template = write_project(
        tmp_path, template=VALID_TEMPLATE.replace("CodeUri: src/worker", "CodeUri: src/wrker")
    )
    assert check_template(template) == ["Worker.CodeUri: 'src/wrker' does not exist"]


def test_missing_handler_module(tmp_path: Path) -> None:
    template = write_project(
        tmp_path, template=VALID_TEMPLATE.replace("Handler: app.handler", "Handler: main.handler")
    )
    assert check_template(template) == ["Worker.Handler: src/worker/main.py does not exist"]


def test_handler_function_not_defined(tmp_path: Path) -> None:
    template = write_project(tmp_path, handler_source="def handle(event, context):\n    return event\n")
    assert check_template(template) == ["Worker.Handler: src/worker/app.py does not define 'handler'"]


def test_handler_module_with_syntax_error(tmp_path: Path) -> None:
    template = write_project(tmp_path, handler_source="def handler(event, context)\n    return event\n")
    assert_reports(check_template(template), "Worker.Handler: src/worker/app.py does not compile")


def test_handler_may_be_imported_into_the_module(tmp_path: Path) -> None:
    template = write_project(tmp_path, handler_source="from cmp.handlers import queue_worker as handler\n")
    assert check_template(template) == []


def test_code_uri_from_globals_is_checked(tmp_path: Path) -> None:
    moved = VALID_TEMPLATE.replace("      CodeUri: src/worker\n", "").replace(
        "    Timeout: 10\n", "    Timeout: 10\n    CodeUri: src/missing\n"
    )
    assert check_template(write_project(tmp_path, template=moved)) == [
        "Worker.CodeUri: 'src/missing' does not exist"
    ]


def test_code_uri_may_come_from_globals(tmp_path: Path) -> None:
    moved = VALID_TEMPLATE.replace("      CodeUri: src/worker\n", "").replace(
        "    Timeout: 10\n", "    Timeout: 10\n    CodeUri: src/worker\n"
    )
    assert check_template(write_project(tmp_path, template=moved)) == []


def test_dangling_next_in_state_machine_file(tmp_path: Path) -> None:
    definition = json.loads(json.dumps(VALID_DEFINITION))
    del definition["States"]["Work"]["End"]
    definition["States"]["Work"]["Next"] = "Notify"
    assert_reports(
        check_template(write_project(tmp_path, definition=definition)),
        "Flow (statemachines/flow.asl.json) States.Work.Next: "
        "'Notify' is not a state in the same States block",
    )


def test_missing_substitution(tmp_path: Path) -> None:
    definition = json.loads(json.dumps(VALID_DEFINITION))
    definition["States"]["Work"]["Parameters"]["Payload"] = {"queue": "${JobsUrl}"}
    del definition["States"]["Work"]["Parameters"]["Payload.$"]
    assert check_template(write_project(tmp_path, definition=definition)) == [
        "Flow.DefinitionSubstitutions: ${JobsUrl} is used in "
        "Flow (statemachines/flow.asl.json) but not provided"
    ]


def test_unused_substitution(tmp_path: Path) -> None:
    template = VALID_TEMPLATE.replace(
        "        WorkerArn: !GetAtt Worker.Arn\n",
        "        WorkerArn: !GetAtt Worker.Arn\n        JobsUrl: !Ref Jobs\n",
    )
    assert check_template(write_project(tmp_path, template=template)) == [
        "Flow.DefinitionSubstitutions.JobsUrl: provided but never used in Flow (statemachines/flow.asl.json)"
    ]


def test_unreferenced_state_machine_file(tmp_path: Path) -> None:
    template = write_project(tmp_path)
    (tmp_path / "statemachines" / "old.asl.json").write_text(json.dumps(VALID_DEFINITION), encoding="utf-8")
    assert check_template(template) == [
        "statemachines/old.asl.json: not used as DefinitionUri by any AWS::Serverless::StateMachine"
    ]


def test_missing_state_machine_file(tmp_path: Path) -> None:
    template = write_project(tmp_path, template=VALID_TEMPLATE.replace("flow.asl.json", "flw.asl.json"))
    problems = check_template(template)
    assert "Flow.DefinitionUri: 'statemachines/flw.asl.json' does not exist" in problems


def test_state_machine_file_with_duplicate_keys(tmp_path: Path) -> None:
    template = write_project(tmp_path)
    (tmp_path / "statemachines" / "flow.asl.json").write_text(
        '{"StartAt": "A", "StartAt": "B", "States": {}}', encoding="utf-8"
    )
    assert_reports(
        check_template(template),
        "Flow (statemachines/flow.asl.json): not valid JSON: duplicate key 'StartAt'",
    )


def test_inline_definition_is_validated(tmp_path: Path) -> None:
    inline = VALID_TEMPLATE.replace(
        "      DefinitionUri: statemachines/flow.asl.json\n",
        "      Definition:\n        StartAt: Missing\n        States:\n"
        "          Work: {Type: Task, Resource: '${WorkerArn}', End: true}\n",
    )
    template = write_project(tmp_path, template=inline)
    (tmp_path / "statemachines" / "flow.asl.json").unlink()
    assert check_template(template) == ["Flow.Definition StartAt: 'Missing' is not a state in States"]


# ---------------------------------------------------------------- grants: environment vs. role

REPO = Path(__file__).resolve().parents[3]

WITH_ENVIRONMENT = VALID_TEMPLATE.replace(
    "      Handler: app.handler\n",
    "      Handler: app.handler\n      Environment:\n        Variables:\n          JOBS_URL: !Ref Jobs\n",
)


def test_the_repo_template_grants_what_its_functions_read() -> None:
    assert check_template(REPO / "template.yaml") == []


def copy_of_the_repo(root: Path, template: str) -> Path:
    """The repo's template, edited, beside links to the folders it points to."""
    for folder in ("functions", "statemachines", "shared", "layers"):
        (root / folder).symlink_to(REPO / folder, target_is_directory=True)
    path = root / "template.yaml"
    path.write_text(template, encoding="utf-8")
    return path


def test_removing_the_database_grant_from_the_authorizer_fails_the_check(tmp_path: Path) -> None:
    template = (REPO / "template.yaml").read_text(encoding="utf-8")
    grant = (
        "      Policies:\n        - AWSSecretsManagerGetSecretValuePolicy:\n"
        "            SecretArn: !Ref DatabaseSecretArn\n"
    )
    authorizer = template.index("  AuthorizerFunction:\n")
    start = template.index(grant, authorizer)
    broken = template[:start] + "      Policies:\n" + template[start + len(grant) :]
    assert main([str(copy_of_the_repo(tmp_path, broken))]) == 1
    assert check_template(tmp_path / "template.yaml") == [
        "AuthorizerFunction.Environment.DATABASE_SECRET_ARN: reads secret DatabaseSecretArn, "
        "but no policy of the function allows secretsmanager:GetSecretValue on it"
    ]


@pytest.mark.parametrize(
    ("function", "policy", "expected"),
    [
        (
            "ProviderApiFunction",
            "SQSSendMessagePolicy",
            "ProviderApiFunction.Environment.REVIEW_QUEUE_URL: reads queue ReviewQueue, "
            "but no policy of the function allows sqs:SendMessage on it",
        ),
        (
            "HousekeepingFunction",
            "StepFunctionsExecutionPolicy",
            "HousekeepingFunction.Environment.ONBOARDING_STATE_MACHINE_ARN: reads state machine "
            "TenantOnboardingStateMachine, but no policy of the function allows states:StartExecution on it",
        ),
        (
            "HousekeepingFunction",
            "SQSSendMessagePolicy",
            "HousekeepingFunction.Environment.REVIEW_QUEUE_URL: reads queue ReviewQueue, "
            "but no policy of the function allows sqs:SendMessage on it",
        ),
        (
            "MarketplaceApiFunction",
            "S3ReadPolicy",
            "MarketplaceApiFunction.Environment.ASSETS_BUCKET: reads bucket AssetsBucket, "
            "but no policy of the function allows s3:GetObject on it",
        ),
        (
            "AuthApiFunction",
            "AWSSecretsManagerGetSecretValuePolicy",
            "AuthApiFunction.Environment.DATABASE_SECRET_ARN: reads secret DatabaseSecretArn, "
            "but no policy of the function allows secretsmanager:GetSecretValue on it",
        ),
    ],
)
def test_each_kind_of_missing_grant_is_named(function: str, policy: str, expected: str) -> None:
    template = load_template(REPO / "template.yaml")
    policies = template["Resources"][function]["Properties"]["Policies"]
    removed = next(p for p in policies if isinstance(p, dict) and policy in p)
    policies.remove(removed)
    assert expected in check_grants(transformed(template))


def test_the_housekeeping_sweep_may_deliver_to_every_outbox_target() -> None:
    """Outbox messages go where functions send work (queues other than dead-letter ones, state machines,
    event buses); the sweep delivers whatever a crashed invocation left, so it may send to all of them."""
    grants = Grants(transformed(load_template(REPO / "template.yaml")))
    targets = {
        need
        for function in grants.functions
        for variable, needs in grants.needs(function).items()
        for need in needs
        if need.kind in ("queue", "state machine", "event bus") and variable != "DLQ_URL"
    }
    assert {need.target for need in targets} >= {"ReviewQueue", "TenantOnboardingStateMachine"}
    for need in targets:
        assert grants.allows("HousekeepingFunction", need), need
    review_queue = grants.need("ReviewQueue")
    assert review_queue is not None and not grants.allows("MarketplaceApiFunction", review_queue)


def transformed(template: dict[str, Any]) -> dict[str, Any]:
    report = TemplateReport()
    result = transform(template, report)
    assert result is not None, report.problems
    return result


def test_an_inline_statement_on_the_queue_arn_is_a_grant(tmp_path: Path) -> None:
    inline = WITH_ENVIRONMENT.replace(
        "        - SQSSendMessagePolicy:\n            QueueName: !GetAtt Jobs.QueueName\n",
        "        - Statement:\n            - Effect: Allow\n              Action: sqs:Send*\n"
        "              Resource: !GetAtt Jobs.Arn\n",
    )
    assert check_template(write_project(tmp_path, template=inline)) == []


def test_a_grant_on_another_queue_does_not_count(tmp_path: Path) -> None:
    other = WITH_ENVIRONMENT.replace(
        "Resources:\n", "Resources:\n  Other:\n    Type: AWS::SQS::Queue\n"
    ).replace("QueueName: !GetAtt Jobs.QueueName", "QueueName: !GetAtt Other.QueueName")
    assert check_template(write_project(tmp_path, template=other)) == [
        "Worker.Environment.JOBS_URL: reads queue Jobs, but no policy of the function allows sqs:SendMessage on it"
    ]


def test_a_deny_wins_over_an_allow(tmp_path: Path) -> None:
    denied = WITH_ENVIRONMENT.replace(
        "      Events:\n        FromJobs:",
        "        - Statement:\n            - Effect: Deny\n              Action: '*'\n              Resource: '*'\n"
        "      Events:\n        FromJobs:",
    )
    assert check_template(write_project(tmp_path, template=denied)) == [
        "Worker.Environment.JOBS_URL: reads queue Jobs, but no policy of the function allows sqs:SendMessage on it"
    ]


def test_a_secret_parameter_in_globals_needs_a_grant_in_every_function(tmp_path: Path) -> None:
    with_parameter = VALID_TEMPLATE.replace(
        "Globals:\n  Function:\n",
        "Parameters:\n  ApiKeySecretArn:\n    Type: String\nGlobals:\n  Function:\n"
        "    Environment:\n      Variables:\n        API_KEY_SECRET_ARN: !Ref ApiKeySecretArn\n",
    )
    assert check_template(write_project(tmp_path, template=with_parameter)) == [
        "Worker.Environment.API_KEY_SECRET_ARN: reads secret ApiKeySecretArn, "
        "but no policy of the function allows secretsmanager:GetSecretValue on it"
    ]
    granted = with_parameter.replace(
        "        - AWSXrayWriteOnlyAccess\n",
        "        - AWSXrayWriteOnlyAccess\n        - AWSSecretsManagerGetSecretValuePolicy:\n"
        "            SecretArn: !Ref ApiKeySecretArn\n",
    )
    (tmp_path / "template.yaml").write_text(granted, encoding="utf-8")
    assert check_template(tmp_path / "template.yaml") == []


def test_the_api_answers_gateway_errors_in_the_platform_error_shape() -> None:
    api = load_template(REPO / "template.yaml")["Resources"]["PortalApi"]["Properties"]
    responses = api["GatewayResponses"]
    expected = {"DEFAULT_4XX", "DEFAULT_5XX", "UNAUTHORIZED", "ACCESS_DENIED", "THROTTLED"}
    assert expected | {"MISSING_AUTHENTICATION_TOKEN"} <= set(responses)
    for kind, response in responses.items():
        body = response["ResponseTemplates"]["application/json"].replace(
            "$context.error.messageString", '"a message"'
        )
        parsed = json.loads(body.replace("$context.requestId", "req-1"))
        assert set(parsed) == {"error", "message", "errors", "request_id"}, kind
        assert parsed["errors"] == [], kind
        assert parsed["request_id"] == "req-1" and parsed["error"], kind


def test_a_value_handed_on_to_state_machines_grants_nothing() -> None:
    """The workflows API writes the steps queue's URL into the state machines it creates and never sends to
    it: the `_FOR_STATE_MACHINES` suffix keeps the gate from asking for (and so granting) sqs:SendMessage."""
    grants = Grants(transformed(load_template(REPO / "template.yaml")))
    assert "WORKFLOW_STEPS_QUEUE_URL_FOR_STATE_MACHINES" not in grants.needs("WorkflowsApiFunction")
    steps = grants.need("WorkflowStepsQueue")
    assert steps is not None and not grants.allows("WorkflowsApiFunction", steps)
