"""Static cross-check: every secret, queue, bucket, state machine and event bus a function is told about in
its environment is covered by a statement of its role.

It reads the CloudFormation the SAM transform produced, where policy templates (`SQSSendMessagePolicy`,
`S3CrudPolicy`, `StepFunctionsExecutionPolicy`, `AWSSecretsManagerGetSecretValuePolicy`, ...) are already
expanded into statements beside the inline ones. Intrinsics are evaluated symbolically against made-up
physical names (a queue `Jobs` is `arn:aws:sqs:us-east-1:123456789012:Jobs`, a parameter `P` is `${P}`),
so a statement's resource pattern can be matched against the resource an environment variable names.

What a variable implies (the function uses what it is told about):
- an `AWS::SecretsManager::Secret`, or a parameter whose name ends in `SecretArn`: `secretsmanager:GetSecretValue`;
- an `AWS::SQS::Queue`: `sqs:SendMessage` (consuming comes from an SQS event, which SAM grants itself);
- an `AWS::S3::Bucket`: `s3:GetObject` on its objects;
- a state machine: `states:StartExecution`;
- an `AWS::Events::EventBus`: `events:PutEvents`.
A variable whose name ends in `_FOR_STATE_MACHINES` or `_FOR_SCHEDULES` is handed on, not used: the function
writes the value into the state machine definitions or Scheduler schedules it creates (whose own role is
checked by AWS), so it implies nothing.
Managed policies are not looked into, and a `Deny` on the resource wins over any `Allow`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"
PSEUDO = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "stack",
}
SECRET_PARAMETER_SUFFIX = "SecretArn"
_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


@dataclass(frozen=True)
class Need:
    """A permission a function needs: `action` on `resource` (a symbolic ARN) to use `target`, a logical id
    or parameter name of the given `kind` ("secret", "queue", ...)."""

    kind: str
    target: str
    action: str
    resource: str


# Resource type -> (kind, the action its use implies).
_KINDS: dict[str, tuple[str, str]] = {
    "AWS::SecretsManager::Secret": ("secret", "secretsmanager:GetSecretValue"),
    "AWS::SQS::Queue": ("queue", "sqs:SendMessage"),
    "AWS::S3::Bucket": ("bucket", "s3:GetObject"),
    "AWS::StepFunctions::StateMachine": ("state machine", "states:StartExecution"),
    "AWS::Events::EventBus": ("event bus", "events:PutEvents"),
}


class _Unresolvable(Exception):
    """An intrinsic this checker does not evaluate (`Fn::If`, `Fn::ImportValue`, ...)."""


class _Names:
    """Made-up physical names for the template's resources, enough to match IAM resource patterns."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.resources: dict[str, Any] = template.get("Resources", {})
        self.parameters: dict[str, Any] = template.get("Parameters", {}) or {}

    def type_of(self, logical_id: str) -> str | None:
        resource = self.resources.get(logical_id)
        return str(resource.get("Type")) if isinstance(resource, dict) else None

    def ref(self, name: str) -> str:
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.parameters:
            return "${" + name + "}"
        kind = self.type_of(name)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
        if kind == "AWS::S3::Bucket":
            return name.lower()
        if kind == "AWS::SecretsManager::Secret":
            return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf"
        if kind == "AWS::StepFunctions::StateMachine":
            return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
        return name

    def get_att(self, name: str, attribute: str) -> str:
        kind = self.type_of(name)
        if kind == "AWS::SQS::Queue":
            values = {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}", "QueueName": name}
        elif kind == "AWS::S3::Bucket":
            values = {"Arn": f"arn:aws:s3:::{name.lower()}"}
        elif kind == "AWS::StepFunctions::StateMachine":
            values = {"Arn": self.ref(name), "Name": name}
        elif kind == "AWS::Events::EventBus":
            values = {"Arn": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}", "Name": name}
        else:
            values = {}
        return values.get(
            attribute, self.ref(name) if attribute in ("Id", "QueueUrl") else f"{name}.{attribute}"
        )

    def evaluate(self, value: Any) -> str:
        """The string `value` stands for; raises _Unresolvable for intrinsics not modelled here."""
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(str(argument))
            if key == "Fn::GetAtt":
                logical, attribute = argument if isinstance(argument, list) else str(argument).split(".", 1)
                return self.get_att(str(logical), str(attribute))
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
                return str(argument[0]).join(self.evaluate(item) for item in argument[1])
        raise _Unresolvable(repr(value))

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return self.evaluate(variables[name])
            if "." in name:
                logical, attribute = name.split(".", 1)
                return self.get_att(logical, attribute)
            return self.ref(name)

        return _SUB_VARIABLE.sub(replace, str(text))


def _referenced(value: Any) -> Iterator[str]:
    """Logical ids and parameter names an intrinsic expression refers to."""
    if isinstance(value, dict):
        for key, argument in value.items():
            if key == "Ref" and isinstance(argument, str):
                yield argument
            elif key == "Fn::GetAtt":
                yield str(argument[0] if isinstance(argument, list) else str(argument).split(".", 1)[0])
            elif key == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
                for name in _SUB_VARIABLE.findall(str(text)):
                    if name not in variables:
                        yield name.split(".", 1)[0]
                yield from _referenced(variables)
            else:
                yield from _referenced(argument)
    elif isinstance(value, list):
        for item in value:
            yield from _referenced(item)


HANDED_ON_SUFFIXES = ("_FOR_STATE_MACHINES", "_FOR_SCHEDULES")


def needs_of(names: _Names, environment: dict[str, Any]) -> dict[str, list[Need]]:
    """Per environment variable, the permissions its value implies."""
    found: dict[str, list[Need]] = {}
    for variable, value in environment.items():
        if variable.endswith(HANDED_ON_SUFFIXES):
            continue
        for name in dict.fromkeys(_referenced(value)):
            need = _need(names, name)
            if need is not None:
                found.setdefault(variable, []).append(need)
    return found


def _need(names: _Names, name: str) -> Need | None:
    if name in names.parameters:
        if name.endswith(SECRET_PARAMETER_SUFFIX):
            return Need("secret", name, "secretsmanager:GetSecretValue", names.ref(name))
        return None
    resource_type = names.type_of(name)
    if resource_type not in _KINDS:
        return None
    kind, action = _KINDS[resource_type]
    if kind == "queue":
        resource = names.get_att(name, "Arn")
    elif kind == "bucket":
        resource = names.get_att(name, "Arn") + "/any-object"
    elif kind == "event bus":
        resource = names.get_att(name, "Arn")
    else:
        resource = names.ref(name)
    return Need(kind, name, action, resource)


def _pattern(text: str, ignore_case: bool) -> re.Pattern[str]:
    """An IAM pattern (`*` any run, `?` one character) as a regular expression."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(regex, re.IGNORECASE if ignore_case else 0)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(names: _Names, patterns: Any, value: str, *, ignore_case: bool = False) -> bool:
    for pattern in _as_list(patterns):
        try:
            text = names.evaluate(pattern)
        except _Unresolvable:
            continue
        if _pattern(text, ignore_case).fullmatch(value):
            return True
    return False


def _statements_of_role(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    resources: dict[str, Any] = template.get("Resources", {})
    documents: list[Any] = []
    role_props = resources.get(role, {}).get("Properties", {})
    documents.extend(policy.get("PolicyDocument") for policy in role_props.get("Policies", []) or [])
    for resource in resources.values():
        if resource.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            props = resource.get("Properties", {})
            if {"Ref": role} in _as_list(props.get("Roles", [])):
                documents.append(props.get("PolicyDocument"))
    for document in documents:
        if isinstance(document, dict):
            statements.extend(s for s in _as_list(document.get("Statement", [])) if isinstance(s, dict))
    return statements


def _covered(names: _Names, statements: list[dict[str, Any]], need: Need) -> bool:
    def applies(statement: dict[str, Any]) -> bool:
        return _matches(names, statement.get("Action", []), need.action, ignore_case=True) and _matches(
            names, statement.get("Resource", []), need.resource
        )

    if any(s.get("Effect") == "Deny" and applies(s) for s in statements):
        return False
    return any(s.get("Effect") == "Allow" and applies(s) for s in statements)


class Grants:
    """The transformed template's functions: what each one's environment implies, and what its role allows."""

    def __init__(self, transformed: dict[str, Any]) -> None:
        self._template = transformed
        self._names = _Names(transformed)
        self._functions: dict[str, dict[str, Any]] = {
            logical_id: resource.get("Properties", {})
            for logical_id, resource in transformed.get("Resources", {}).items()
            if isinstance(resource, dict) and resource.get("Type") == "AWS::Lambda::Function"
        }

    @property
    def functions(self) -> list[str]:
        return list(self._functions)

    def needs(self, function: str) -> dict[str, list[Need]]:
        """Per environment variable of `function` (Globals merged in), the permissions it implies."""
        environment = (self._functions[function].get("Environment") or {}).get("Variables") or {}
        return needs_of(self._names, environment)

    def need(self, target: str) -> Need | None:
        """What using `target` (a logical id, or a parameter named `…SecretArn`) takes; None if untracked."""
        return _need(self._names, target)

    def role(self, function: str) -> str | None:
        """The logical id of `function`'s role, or None when the role is not defined in this template."""
        role = self._functions[function].get("Role")
        return str(role["Fn::GetAtt"][0]) if isinstance(role, dict) and "Fn::GetAtt" in role else None

    def allows(self, function: str, need: Need) -> bool:
        """Whether `function`'s role allows `need.action` on `need.resource` (and denies neither)."""
        role = self.role(function)
        return role is not None and _covered(self._names, _statements_of_role(self._template, role), need)


def check_grants(transformed: dict[str, Any]) -> list[str]:
    """One problem per environment variable whose resource the function's role does not cover."""
    grants = Grants(transformed)
    problems: list[str] = []
    for function in grants.functions:
        for variable, needs in grants.needs(function).items():
            for need in needs:
                where = f"{function}.Environment.{variable}: reads {need.kind} {need.target}"
                if grants.role(function) is None:
                    problems.append(
                        f"{where}, but its role is not defined in this template, so it cannot be checked"
                    )
                elif not grants.allows(function, need):
                    problems.append(f"{where}, but no policy of the function allows {need.action} on it")
    return problems
