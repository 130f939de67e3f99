"""What the local runner needs from template.yaml: functions and their events, queues, buckets, secrets,
state machines, the API's authorizer and gateway responses, and a resolver for the intrinsics they use."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cmp_dev.devtools.cfn_yaml import load_template

ACCOUNT_ID = "123456789012"


@dataclass(frozen=True)
class ApiRoute:
    function: str
    path: str
    method: str
    authorized: bool
    authorizer: str | None = None
    """The name of the route's authorizer among the API's `Authorizers` (None: the default one)."""


@dataclass(frozen=True)
class AuthorizerDef:
    """One of the API's Lambda REQUEST authorizers: its function, its result cache time (0: off) and the
    headers API Gateway requires before calling it (only when caching is on, as API Gateway does)."""

    function: str
    ttl: int
    identity_headers: tuple[str, ...]


@dataclass(frozen=True)
class SqsSource:
    function: str
    queue: str
    batch_size: int
    reports_item_failures: bool


@dataclass(frozen=True)
class ScheduleSource:
    function: str
    name: str
    expression: str


@dataclass(frozen=True)
class GatewayResponse:
    """One of the API's `GatewayResponses`: its status (None: the response type's own), its headers
    (values resolved, quotes stripped) and its `application/json` mapping template, if any."""

    status: int | None
    headers: dict[str, str]
    body_template: str | None


@dataclass
class FunctionDef:
    logical_id: str
    code_dir: Path
    module: str
    attribute: str
    environment: dict[str, Any]
    timeout: int


@dataclass
class StateMachineDef:
    logical_id: str
    definition_path: Path
    substitutions: dict[str, Any]


@dataclass
class LocalTemplate:
    root: Path
    raw: dict[str, Any]
    functions: dict[str, FunctionDef] = field(default_factory=dict)
    routes: list[ApiRoute] = field(default_factory=list)
    sqs_sources: list[SqsSource] = field(default_factory=list)
    schedules: list[ScheduleSource] = field(default_factory=list)
    queues: dict[str, dict[str, Any]] = field(default_factory=dict)
    buckets: list[str] = field(default_factory=list)
    bucket_notifications: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Bucket → its `NotificationConfiguration.QueueConfigurations` (S3 events sent to SQS)."""
    secrets: list[str] = field(default_factory=list)
    kms_keys: list[str] = field(default_factory=list)
    event_rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    """EventBridge rules (`AWS::Events::Rule` properties: `EventPattern`, `Targets`)."""
    distributions: list[str] = field(default_factory=list)
    websocket_apis: list[str] = field(default_factory=list)
    """`AWS::ApiGatewayV2::Api` resources: the runner serves them on its own port (`LocalRunner.websocket_url`)."""
    roles: list[str] = field(default_factory=list)
    state_machines: dict[str, StateMachineDef] = field(default_factory=dict)
    authorizers: dict[str, AuthorizerDef] = field(default_factory=dict)
    default_authorizer: str | None = None
    gateway_responses: dict[str, GatewayResponse] = field(default_factory=dict)
    websocket_routes: dict[str, str] = field(default_factory=dict)
    """The WebSocket API's route keys (`$connect`, `$disconnect`, `$default`, actions) → the function each
    route's integration calls (`AWS::ApiGatewayV2::Route` → `Integration` → `${Function.Arn}`)."""

    @property
    def authorizer_function(self) -> str | None:
        """The default authorizer's function (None when the API has none)."""
        default = self.authorizers.get(self.default_authorizer or "")
        return default.function if default else None

    def route_authorizer(self, route: ApiRoute) -> AuthorizerDef | None:
        """The authorizer API Gateway runs for `route`, or None for an open route."""
        if not route.authorized:
            return None
        return self.authorizers.get(route.authorizer or self.default_authorizer or "")

    @property
    def parameters(self) -> dict[str, Any]:
        return {name: spec.get("Default", "") for name, spec in self.raw.get("Parameters", {}).items()}


def read_template(path: Path) -> LocalTemplate:
    raw = load_template(path)
    tpl = LocalTemplate(root=path.parent, raw=raw)
    globals_fn = raw.get("Globals", {}).get("Function", {})
    global_env = globals_fn.get("Environment", {}).get("Variables", {})
    resources: dict[str, Any] = raw.get("Resources", {})
    for logical_id, resource in resources.items():
        kind, props = resource.get("Type"), resource.get("Properties", {})
        if kind == "AWS::Serverless::Function":
            module, _, attribute = props["Handler"].rpartition(".")
            tpl.functions[logical_id] = FunctionDef(
                logical_id=logical_id,
                code_dir=(path.parent / props["CodeUri"]).resolve(),
                module=module,
                attribute=attribute,
                environment={**global_env, **props.get("Environment", {}).get("Variables", {})},
                timeout=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
            )
            _read_events(tpl, logical_id, props.get("Events", {}), resources)
        elif kind == "AWS::SQS::Queue":
            tpl.queues[logical_id] = props
        elif kind == "AWS::S3::Bucket":
            tpl.buckets.append(logical_id)
            queue_configs = props.get("NotificationConfiguration", {}).get("QueueConfigurations", [])
            if queue_configs:
                tpl.bucket_notifications[logical_id] = queue_configs
        elif kind == "AWS::SecretsManager::Secret":
            tpl.secrets.append(logical_id)
        elif kind == "AWS::KMS::Key":
            tpl.kms_keys.append(logical_id)
        elif kind == "AWS::Events::Rule":
            tpl.event_rules[logical_id] = props
        elif kind == "AWS::CloudFront::Distribution":
            tpl.distributions.append(logical_id)
        elif kind == "AWS::ApiGatewayV2::Api":
            tpl.websocket_apis.append(logical_id)
        elif kind == "AWS::IAM::Role":
            tpl.roles.append(logical_id)
        elif kind == "AWS::Serverless::StateMachine":
            tpl.state_machines[logical_id] = StateMachineDef(
                logical_id,
                (path.parent / props["DefinitionUri"]).resolve(),
                props.get("DefinitionSubstitutions", {}),
            )
        elif kind == "AWS::Serverless::Api":
            tpl.gateway_responses = _gateway_responses(props.get("GatewayResponses", {}), tpl.parameters)
            auth = props.get("Auth", {})
            tpl.default_authorizer = auth.get("DefaultAuthorizer")
            for name, authorizer in auth.get("Authorizers", {}).items():
                identity = authorizer.get("Identity", {})
                ttl = int(identity.get("ReauthorizeEvery", 300))
                tpl.authorizers[name] = AuthorizerDef(
                    _logical_ref(authorizer["FunctionArn"]),
                    ttl,
                    tuple(h.lower() for h in identity.get("Headers", [])) if ttl > 0 else (),
                )
    _read_websocket_routes(tpl, resources)
    return tpl


def _read_websocket_routes(tpl: LocalTemplate, resources: dict[str, Any]) -> None:
    for props in (
        r.get("Properties", {}) for r in resources.values() if r.get("Type") == "AWS::ApiGatewayV2::Route"
    ):
        target = props.get("Target", {})
        integration = str(target.get("Fn::Sub", target) if isinstance(target, dict) else target)
        uri = json.dumps(resources.get(integration.removeprefix("integrations/${").removesuffix("}"), {}))
        function = next((f for f in tpl.functions if f"${{{f}.Arn}}" in uri), None)
        if function is not None:
            tpl.websocket_routes[str(props["RouteKey"])] = function


def _read_events(
    tpl: LocalTemplate, function: str, events: dict[str, Any], resources: dict[str, Any]
) -> None:
    for name, event in events.items():
        props = event.get("Properties", {})
        if event["Type"] == "Api":
            authorizer = props.get("Auth", {}).get("Authorizer")
            tpl.routes.append(
                ApiRoute(
                    function,
                    props["Path"],
                    props["Method"].upper(),
                    authorizer != "NONE",
                    authorizer if authorizer not in (None, "NONE") else None,
                )
            )
        elif event["Type"] == "SQS":
            tpl.sqs_sources.append(
                SqsSource(
                    function,
                    _logical_ref(props["Queue"]),
                    int(props.get("BatchSize", 10)),
                    "ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                )
            )
        elif event["Type"] in ("Schedule", "ScheduleV2"):
            expression = props.get("Schedule") or props.get("ScheduleExpression")
            tpl.schedules.append(ScheduleSource(function, f"{function}-{name}", str(expression)))


def _gateway_responses(declared: dict[str, Any], parameters: dict[str, Any]) -> dict[str, GatewayResponse]:
    resolver = Resolver({}, parameters, "us-east-1")
    responses: dict[str, GatewayResponse] = {}
    for kind, spec in declared.items():
        headers = spec.get("ResponseParameters", {}).get("Headers", {})
        status = spec.get("StatusCode")
        responses[kind] = GatewayResponse(
            status=int(status) if status is not None else None,
            headers={name: str(resolver.resolve(value)).strip("'") for name, value in headers.items()},
            body_template=spec.get("ResponseTemplates", {}).get("application/json"),
        )
    return responses


def _logical_ref(value: Any) -> str:
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    raise ValueError(f"expected a !Ref or !GetAtt, got {value!r}")


class Resolver:
    """Resolves the intrinsics our template uses against the local stack's physical resources."""

    def __init__(self, physical: dict[str, dict[str, str]], parameters: dict[str, Any], region: str) -> None:
        self.physical = physical
        self.parameters = parameters
        self.pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": "cmp-local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.physical[logical][attribute]
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Join":
                return arg[0].join(str(self.resolve(v)) for v in arg[1])
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def _ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.physical[name]["Ref"]

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name:
                logical, attribute = name.split(".", 1)
                return str(self.physical[logical][attribute])
            return str(self._ref(name))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)
