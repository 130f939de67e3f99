"""`cmp check`'s WebSocket API checks, on the repo's template and on copies broken on purpose."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from cmp_dev.devtools.cfn_yaml import load_template
from cmp_dev.devtools.websocket_check import check_websocket_apis

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(REPO / "template.yaml")


def test_the_repos_websocket_api_is_whole(template: dict[str, Any]) -> None:
    assert check_websocket_apis(template, REPO) == []


def _broken(template: dict[str, Any], change: Any) -> list[str]:
    broken = copy.deepcopy(template)
    change(broken["Resources"])
    return check_websocket_apis(broken, REPO)


def test_each_break_is_named(template: dict[str, Any], tmp_path: Path) -> None:
    assert _broken(template, lambda r: r.pop("ChatWebSocketDefaultRoute")) == [
        "websocket ChatWebSocketApi: route $default is declared 0 times; declare it once"
    ]
    assert (
        "no RouteSelectionExpression"
        in _broken(template, lambda r: r["ChatWebSocketApi"]["Properties"].pop("RouteSelectionExpression"))[0]
    )
    assert (
        "targets no integration"
        in _broken(
            template,
            lambda r: r["ChatWebSocketChatRoute"]["Properties"].update(Target="integrations/${Nope}"),
        )[0]
    )
    assert (
        "lets API Gateway invoke"
        in _broken(
            template,
            lambda r: r["ChatWebSocketInvokePermission"]["Properties"].update(
                Principal="lambda.amazonaws.com"
            ),
        )[0]
    )
    assert (
        "ManageConnections"
        in _broken(template, lambda r: r["ChatWsFunction"]["Properties"]["Policies"].pop())[0]
    )
    assert (
        "does not depend on route(s) ChatWebSocketChatRoute"
        in _broken(
            template, lambda r: r["ChatWebSocketDeployment"]["DependsOn"].remove("ChatWebSocketChatRoute")
        )[0]
    )
    (tmp_path / "functions" / "chat_ws").mkdir(parents=True)
    (tmp_path / "functions" / "chat_ws" / "app.py").write_text(
        "from chalice.app import Chalice\napp = Chalice('x')\n@app.on_ws_message()\ndef m(e): ...\n"
    )
    problems = check_websocket_apis(template, tmp_path)
    assert problems == [
        "websocket ChatWebSocketApi: ChatWsFunction's handler module has no @app.on_ws_connect() handler",
        "websocket ChatWebSocketApi: ChatWsFunction's handler module has no @app.on_ws_disconnect() handler",
    ]
