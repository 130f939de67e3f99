"""The template gate's checks of WebSocket APIs (`AWS::ApiGatewayV2::Api` with `ProtocolType: WEBSOCKET`).

The SAM transform and cfn-lint check each resource's properties; they do not check that the API is whole.
For every WebSocket API this checks, offline:
- a `RouteSelectionExpression`, and the routes `$connect`, `$disconnect` and `$default`, each once;
- each route's `Target` names an `AWS_PROXY` integration of the same API whose `IntegrationUri` is a
  function of the template (`${Function.Arn}`), that function's Python handler module registering the
  Chalice handler of each route kind it receives (`on_ws_connect`, `on_ws_disconnect`, `on_ws_message`);
- API Gateway may invoke each such function for this API (an `AWS::Lambda::Permission` for
  `apigateway.amazonaws.com` whose `SourceArn` names the API);
- a stage and a deployment of the API, the deployment depending on every route (else it can be made before
  a route exists and serve without it);
- each such function's policies allow `execute-api:ManageConnections` on this API (it answers through
  `@connections`).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

REQUIRED_ROUTES = ("$connect", "$disconnect", "$default")
CHALICE_DECORATOR = {"$connect": "on_ws_connect", "$disconnect": "on_ws_disconnect"}
"""The Chalice decorator a route's handler needs; every other route key is a message (`on_ws_message`)."""


def _refs(value: Any) -> str:
    """The template text of `value` (its Ref/Sub/GetAtt names appear in it)."""
    return json.dumps(value)


def _is_ref(value: Any, logical_id: str) -> bool:
    return isinstance(value, dict) and value.get("Ref") == logical_id


def _sub_names(value: Any) -> str:
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return str(sub[0] if isinstance(sub, list) else sub)
    return str(value)


def _decorators(code_dir: Path, handler: str) -> set[str]:
    """The decorator attribute names (`on_ws_connect`, …) used in the handler's module; empty if unreadable."""
    module = handler.rpartition(".")[0].replace(".", "/")
    try:
        tree = ast.parse((code_dir / f"{module}.py").read_text())
    except (OSError, SyntaxError):
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(target, ast.Attribute):
                    names.add(target.attr)
    return names


def check_websocket_apis(template: dict[str, Any], base_dir: Path) -> list[str]:
    """Problems of the template's WebSocket APIs (see the module docstring); empty when whole."""
    resources: dict[str, Any] = template.get("Resources", {})
    problems: list[str] = []
    for api_id, api in resources.items():
        props = api.get("Properties", {})
        if api.get("Type") != "AWS::ApiGatewayV2::Api" or props.get("ProtocolType") != "WEBSOCKET":
            continue
        where = f"websocket {api_id}"
        if not props.get("RouteSelectionExpression"):
            problems.append(f"{where}: no RouteSelectionExpression")
        of_api = {
            name: r for name, r in resources.items() if _is_ref(r.get("Properties", {}).get("ApiId"), api_id)
        }
        routes = {n: r for n, r in of_api.items() if r.get("Type") == "AWS::ApiGatewayV2::Route"}
        keys = [r["Properties"].get("RouteKey") for r in routes.values()]
        for key in REQUIRED_ROUTES:
            if keys.count(key) != 1:
                problems.append(f"{where}: route {key} is declared {keys.count(key)} times; declare it once")
        functions: dict[str, set[str]] = {}
        for name, route in routes.items():
            key, target = route["Properties"].get("RouteKey"), _sub_names(route["Properties"].get("Target"))
            integration_id = target.removeprefix("integrations/${").removesuffix("}")
            integration = of_api.get(integration_id, {})
            if integration.get("Type") != "AWS::ApiGatewayV2::Integration":
                problems.append(f"{where}: route {key} ({name}) targets no integration of this API")
                continue
            iprops = integration["Properties"]
            uri = _sub_names(iprops.get("IntegrationUri"))
            function = next(
                (f for f, r in resources.items()
                 if r.get("Type") == "AWS::Serverless::Function" and f"${{{f}.Arn}}" in uri),
                None,
            )  # fmt: skip
            if iprops.get("IntegrationType") != "AWS_PROXY" or function is None:
                problems.append(
                    f"{where}: integration {integration_id} is not an AWS_PROXY call of a function"
                )
                continue
            functions.setdefault(function, set()).add(CHALICE_DECORATOR.get(str(key), "on_ws_message"))
        for function, needed in functions.items():
            fprops = resources[function].get("Properties", {})
            found = _decorators(base_dir / str(fprops.get("CodeUri", "")), str(fprops.get("Handler", "")))
            for decorator in sorted(needed - found):
                problems.append(f"{where}: {function}'s handler module has no @app.{decorator}() handler")
            if not any(
                r.get("Type") == "AWS::Lambda::Permission"
                and _is_ref(r["Properties"].get("FunctionName"), function)
                and r["Properties"].get("Principal") == "apigateway.amazonaws.com"
                and f"${{{api_id}}}" in _sub_names(r["Properties"].get("SourceArn"))
                for r in resources.values()
            ):
                problems.append(f"{where}: no AWS::Lambda::Permission lets API Gateway invoke {function}")
            if "execute-api:ManageConnections" not in _refs(
                fprops.get("Policies")
            ) or f"${{{api_id}}}" not in _refs(fprops.get("Policies")):
                problems.append(
                    f"{where}: {function} may not post to @connections (execute-api:ManageConnections)"
                )
        deployments = [r for r in of_api.values() if r.get("Type") == "AWS::ApiGatewayV2::Deployment"]
        if not any(r.get("Type") == "AWS::ApiGatewayV2::Stage" for r in of_api.values()) or not deployments:
            problems.append(f"{where}: needs an AWS::ApiGatewayV2::Stage and a Deployment")
        for deployment in deployments:
            depends = deployment.get("DependsOn", [])
            missing = sorted(set(routes) - set([depends] if isinstance(depends, str) else depends))
            if missing:
                problems.append(f"{where}: its Deployment does not depend on route(s) {', '.join(missing)}")
    return problems
